"""edgelenet: LeNet-5 from PyTorch training to an integer-only C engine, with parity proven at each step."""

__version__ = "0.1.0"
