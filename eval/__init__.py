"""The eval harness: gold Q&A and an offline faithfulness scorer (arrives with its own issue)."""
