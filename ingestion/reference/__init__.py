"""Reference data: authorities and their name variants, population, bank holidays."""
