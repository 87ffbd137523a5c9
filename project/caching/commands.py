"""``flask cache warm`` and ``flask cache clear``."""

import click
import redis
from flask.cli import AppGroup

cache_cli = AppGroup("cache", help="The response cache.")


@cache_cli.command("warm")
@click.option("--top", type=click.IntRange(min=1), default=None,
              help="How many of the most viewed products (default: CACHE_WARM_TOP).")
def warm(top):
    """Fill the cache for the most viewed products and the first catalogue page."""
    from project.caching import warm_cache

    try:
        counts = warm_cache(top=top)
    except (redis.RedisError, OSError) as error:
        raise click.ClickException(f"the cache's Redis is unavailable ({type(error).__name__})") from None
    click.echo(f"warmed {counts['products']} most viewed products: {counts['filled']} entries filled "
               f"(the rest were cached), {counts['missing']} no longer exist")


@cache_cli.command("clear")
def clear():
    """Invalidate every catalogue entry (a new namespace version; old entries expire on their own)."""
    from project.caching import clear_all

    if not clear_all():
        raise click.ClickException("the cache's Redis is unavailable; entries expire within their TTL")
    click.echo("cache cleared")
