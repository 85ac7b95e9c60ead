"""Kept failing examples of the robustness tests (see RELIABILITY.md).

``mutants.py`` turns a JSON *recipe* (edits to the shipped minutes) into the bytes of a raw file
and checks the build's promises on it; ``cases/*.json`` are recipes that once broke something;
``test_replay.py`` replays every one of them on each test run.
"""
