"""scratchlm: raw web text in, a trained GPT out.

The four packages live in the repository's top-level folders (curate/, tokenizer/, model/,
pipelines/); in a checkout the links beside this file make them scratchlm.curate,
scratchlm.tokenizer, scratchlm.model and scratchlm.pipelines, and a wheel holds them here.
"""
