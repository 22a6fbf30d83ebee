"""Django's database cache, with an increment that two processes cannot both lose.

The stock DatabaseCache increments by a read and a write, so two signups at once can count as one
(why django-ratelimit refuses it). Here the row is locked between the two (PostgreSQL's FOR UPDATE;
SQLite's IMMEDIATE transactions already serialise writers), so the rate limits hold on a
deployment with no Redis for the cache.
"""

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction


class AtomicDatabaseCache(DatabaseCache):
    def incr(self, key, delta=1, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        with transaction.atomic(using=db):
            if connection.features.has_select_for_update:
                table = connection.ops.quote_name(self._table)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT cache_key FROM {table} WHERE cache_key = %s FOR UPDATE",  # noqa: S608
                        [self.make_and_validate_key(key, version=version)],
                    )
            return super().incr(key, delta, version=version)
