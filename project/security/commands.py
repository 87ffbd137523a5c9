"""``flask security``: list and lift IP blocks (registered by ``project.security.blocking``)."""

import ipaddress

import click
from flask.cli import AppGroup

security_cli = AppGroup("security", help="Security monitoring: IP blocks.")


@security_cli.command("blocks")
def blocks():
    """List blocked IPs: address, seconds remaining, repeat level."""
    from project.security.blocking import list_blocks

    rows = list_blocks()
    if not rows:
        click.echo("no blocked addresses")
        return
    click.echo(f"{'ip':<40} {'remaining s':>12} {'level':>6}")
    for row in rows:
        click.echo(f"{row['ip']:<40} {row['remaining_seconds']:>12} {row['level']:>6}")


@security_cli.command("unblock")
@click.argument("ip", required=False)
@click.option("--all", "everything", is_flag=True, help="Lift every block.")
def unblock(ip, everything):
    """Lift the block on IP (or every block with --all); its failures and repeat level are forgotten."""
    from project.security import blocking

    if bool(ip) == everything:
        raise click.UsageError("give one IP address, or --all")
    if everything:
        click.echo(f"lifted {blocking.unblock_all()} block(s)")
        return
    try:
        ip = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        raise click.BadParameter(f"{ip!r} is not an IP address", param_hint="IP") from None
    click.echo(f"unblocked {ip}" if blocking.unblock(ip) else f"{ip} was not blocked (its history is cleared)")
