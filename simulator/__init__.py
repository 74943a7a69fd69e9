"""A synthetic bank: customers with habits, injected fraud and its ground truth."""
