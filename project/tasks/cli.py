"""``flask tasks``: the dead letters. ``dead`` lists them, ``requeue-dead`` and ``purge-dead`` handle them."""

import click
from flask.cli import AppGroup

tasks_cli = AppGroup("tasks", help="Background jobs: dead letters.")


def _targets(job_ids, everything):
    """The job IDs a command acts on: those given, or every dead letter with --all."""
    from project.tasks import dead

    if bool(job_ids) == everything:
        raise click.UsageError("name JOB_IDs or pass --all (not both)")
    return [entry["job_id"] for entry in dead.list_dead()] if everything else list(job_ids)


@tasks_cli.command("dead")
def list_dead():
    """List dead letters: job id, function, queue, when it failed, and its error."""
    from project.tasks import dead

    entries = dead.list_dead()
    for entry in entries:
        click.echo(f"{entry['job_id']}  {entry['function']}  {entry['queue']}  {entry['failed_at']}  "
                   f"attempt {entry['attempt']}  {entry['error']}")
    click.echo(f"{len(entries)} dead letter(s)")


@tasks_cli.command("requeue-dead")
@click.option("--all", "everything", is_flag=True, help="Requeue every dead letter.")
@click.argument("job_ids", nargs=-1)
def requeue_dead(everything, job_ids):
    """Put dead letters back on their queues, with their retries restored (exit 1 if one is unknown)."""
    from project.tasks import dead

    _apply(dead.requeue, "requeued", _targets(job_ids, everything))


@tasks_cli.command("purge-dead")
@click.option("--all", "everything", is_flag=True, help="Delete every dead letter.")
@click.argument("job_ids", nargs=-1)
def purge_dead(everything, job_ids):
    """Delete dead letters and their jobs for good (exit 1 if one is unknown)."""
    from project.tasks import dead

    _apply(dead.purge, "purged", _targets(job_ids, everything))


def _apply(action, verb, job_ids):
    """Run ``action`` on each job ID; name the ones that are not dead letters, and exit 1 if any."""
    missing = []
    for job_id in job_ids:
        if action(job_id):
            click.echo(f"{verb} {job_id}")
        else:
            missing.append(job_id)
    if missing:
        raise click.ClickException(f"no such dead letter: {', '.join(missing)}")
