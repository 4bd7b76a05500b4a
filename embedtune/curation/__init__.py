"""Turn raw generated queries into training data worth learning from.

A small local LLM writes generic, duplicated or copied questions and "negatives" that the chunk
often does answer. Filtering drops the questions that would teach the wrong thing; mining takes
hard negatives from the corpus itself instead of trusting the LLM's.
"""
