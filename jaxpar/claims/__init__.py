"""The seed talk's claims (../shared/seed-talk.txt), each turned into a measured verdict."""
