"""Whether a person takes part in federated learning before saying so follows their
country's rule: nobody where learning is opt-in (both shipped regions), everybody who has not
said no where an operator's rules make it opt-out; a choice always wins."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity
from hugmood.learning.service import FederatedLearning
from hugmood.regions.policy import SHIPPED_DIR
from tests.conftest import unique


def coordinator(core: HugMood) -> FederatedLearning:
    (found,) = [s for s in core.services if isinstance(s, FederatedLearning)]
    return found


async def person_in(core: HugMood, country: str) -> str:
    handle = unique("lea")
    await core.bus.handle(
        identity.RegisterUser(handle, "Lea", "a good password", None, None, country)
    )
    return identity.user_id_for(handle)


async def test_learning_is_off_until_chosen_where_it_is_opt_in(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        lea = await person_in(core, "FR")
        assert (await coordinator(core).status(lea, None))["consent"] is False


async def test_where_the_rules_make_it_opt_out_a_person_takes_part_until_they_say_no(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    rules = folder / "eu-west.toml"
    shutil.copy(SHIPPED_DIR / "eu-west.toml", rules)
    rules.write_text(rules.read_text().replace('learning = "opt-in"', 'learning = "opt-out"', 1))
    async with open_hugmood(replace(settings, policy_dir=str(folder))) as core:
        learning = coordinator(core)
        lea = await person_in(core, "FR")
        assert (await learning.status(lea, None))["consent"] is True
        await learning.set_consent(lea, False)
        assert (await learning.status(lea, None))["consent"] is False
