from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from monitoring.demo.seed import seed_steps


class Command(BaseCommand):
    help = (
        "Create a demo site with chairs, the accounts admin, clinician, nurse, frontdesk and "
        "patient (all with --password), the protocol library and a few weeks of history. "
        "Safe to run twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", required=True, help="Password for every demo account.")

    def handle(self, *args: Any, **options: Any) -> None:
        state: dict[str, Any] = {}
        steps = seed_steps(options["password"])
        with tqdm(total=len(steps), desc="seed_demo", unit="step", file=self.stderr._out) as bar:
            for name, step in steps:
                bar.set_postfix_str(name)
                step(state)
                bar.update(1)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
