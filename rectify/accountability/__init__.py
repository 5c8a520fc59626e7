"""追责问责 entries as records (issue 12): created by timer events, resolved by a trigger."""
