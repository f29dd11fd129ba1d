"""Stage: synthetic regions, entirely made up and safe to share: background records as agencies
hold them, planted pattern instances (one planter per pattern tag) with a truth file, and scoring
of alerts against that truth.

May import: every stage before it (it writes files in the shipped profiles' layouts).
"""
