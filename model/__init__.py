"""A compact GPT-2 trainer in the style of "Build a Large Language Model (From Scratch)".

Imports torch, numpy and the standard library only, so it runs on a GPU machine as it is.
"""
