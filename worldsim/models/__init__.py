"""World models: Genie-style tokenizer, latent action model and dynamics model; quantizers in :mod:`.quantizers`."""
