"""Reading a customer's reply (spoken, keyed or texted) into an answer and a request.

Pure parsing, importing only core: the voice survey (ivr) and the text survey (texts) read
replies with the same functions, so a reply means the same thing on either channel.
"""
