"""Data files shipped with the package: learned weights."""
