"""Password hashing at an explicit cost, rather than whatever Django's default is."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1 lane.

    Django's default (100 MiB, 8 lanes) costs about five times the CPU per sign-in
    and 100 MiB per concurrent one, which a 512 MB instance cannot spare. The
    algorithm name stays "argon2", so hashes made at other costs still verify and
    are rehashed at this one on the next sign-in.
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
