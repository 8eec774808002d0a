"""``python -m dispatch`` prints the case lifecycle's transition table."""

from dispatch.lifecycle import print_transition_table

print_transition_table()
