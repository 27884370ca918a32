"""Spoken practice (口语练习): read a known text aloud at the right pace, answer the phone within three rings."""
