"""Business rules of IMAG'IN: plain functions and dataclasses, no Flask, no database."""
