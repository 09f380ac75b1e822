"""ftd: design-phase workbench for multi-turn LLM fine-tuning."""
__version__ = "0.1.0"
