"""Several regions in one process: each region's settings derived from the process's, so that
every region has stores of its own (files under `<data_dir>/regions/<region>/`, or a schema
of its own in PostgreSQL, its own NATS stream and subjects, its own Redis keys), and the one
global directory they share (a table in the process's own database, or `HUGMOOD_DIRECTORY_URL`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from hugmood.config import ConfigError, Settings
from hugmood.regions.directory import Directory
from hugmood.regions.federation import HttpPeer, Peer, RegionFederation
from hugmood.regions.geography import Geography
from hugmood.sql.beside import open_beside_the_log
from hugmood.sql.database import SqlDatabase
from hugmood.sql.postgres import PostgresDatabase


def hosted_regions(settings: Settings, geography: Geography) -> list[str]:
    """The regions this process hosts (empty: one region, `settings.region`, as ever);
    ConfigError for an unknown, repeated or missing one."""
    names = [r.strip() for r in settings.regions.split(",") if r.strip()]
    if not names:
        return []
    for name in names:
        if name not in geography.regions:
            known = ", ".join(sorted(geography.regions))
            raise ConfigError(f"HUGMOOD_REGIONS: {name!r} is not a region ({known})")
    if len(set(names)) != len(names):
        raise ConfigError("HUGMOOD_REGIONS names a region twice")
    if settings.region not in names:
        raise ConfigError(
            f"HUGMOOD_REGION ({settings.region}) must be one of HUGMOOD_REGIONS: it is where "
            "requests that name no person go"
        )
    if settings.role != "all":
        raise ConfigError("HUGMOOD_REGIONS hosts whole regions: it needs HUGMOOD_ROLE=all")
    return names


def remote_regions(
    settings: Settings, geography: Geography, *, shares_directory: bool = False
) -> dict[str, str]:
    """Regions that are deployments of their own, each reached at its URL
    (`HUGMOOD_REGION_URLS=us-east=https://us.example,…`); ConfigError for a malformed one."""
    found: dict[str, str] = {}
    for part in (p.strip() for p in settings.region_urls.split(",")):
        if not part:
            continue
        region, _, url = (x.strip() for x in part.partition("="))
        if region not in geography.regions:
            raise ConfigError(f"HUGMOOD_REGION_URLS: {region!r} is not a region")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"HUGMOOD_REGION_URLS: the URL of {region} must be http(s)://")
        if region in found or region in {r.strip() for r in settings.regions.split(",")}:
            raise ConfigError(f"HUGMOOD_REGION_URLS: {region} is named twice or hosted here")
        found[region] = url
    if found and not settings.directory_url and not shares_directory:
        raise ConfigError(
            "HUGMOOD_REGION_URLS needs HUGMOOD_DIRECTORY_URL: regions in other deployments "
            "must share the directory"
        )
    return found


def region_settings(settings: Settings, region: str) -> Settings:
    """`settings` as one of the regions hosted in this process sees them."""
    token = re.sub(r"[^a-z0-9]", "_", region)
    return replace(
        settings,
        region=region,
        regions="",
        data_dir=settings.data_dir / "regions" / region,
        postgres_schema=f"{settings.postgres_schema}_{token}",
        nats_stream=f"{settings.nats_stream}_{token.upper()}",
        nats_subject_prefix=f"{settings.nats_subject_prefix}.{token}",
        redis_prefix=f"{settings.redis_prefix}:{region}",
        directory_url="",
    )


async def open_directory(settings: Settings) -> Directory | None:
    """The directory this process's regions share (None: one region and no directory URL)."""
    db: SqlDatabase
    if settings.directory_url:
        if not settings.directory_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("HUGMOOD_DIRECTORY_URL must be a postgresql:// URL")
        db = await PostgresDatabase.connect(
            settings.directory_url, schema="hugmood_directory", min_size=1, max_size=4
        )
    elif not settings.regions:
        return None
    else:
        db = await open_beside_the_log(
            settings.database_url,
            settings.data_dir,
            "directory.sqlite3",
            schema=settings.postgres_schema,
        )
    try:
        return await Directory.open(db)
    except BaseException:
        await db.close()
        raise


def open_federation(
    settings: Settings, geography: Geography, directory: Directory, peers: Mapping[str, Peer]
) -> RegionFederation:
    """This region's way to the others: `peers` hosted in this process, and with a federation
    key, the deployments of `HUGMOOD_REGION_URLS` over HTTP, or with the NATS transport,
    every other region of the regions file over NATS (addressed by name: no list to keep)."""
    reachable: dict[str, Peer] = {r: p for r, p in peers.items() if r != settings.region}
    if settings.federation_key and settings.federation_transport == "nats":
        from hugmood.regions.nats_federation import NatsLink, NatsPeer

        # A region's URL, where given, is still where its people's requests and its boards'
        # sockets go.
        urls = remote_regions(settings, geography, shares_directory=True)
        link = NatsLink(settings.nats_url, name=f"hugmood federation {settings.region}")
        for region in geography.regions:
            if region != settings.region:
                reachable.setdefault(
                    region,
                    NatsPeer(
                        region,
                        link,
                        key=settings.federation_key,
                        caller=settings.region,
                        board_url=urls.get(region),
                    ),
                )
    elif settings.federation_key:
        # Given the directory, this region shares it: it may be one hosted behind an edge.
        for region, url in remote_regions(settings, geography, shares_directory=True).items():
            reachable.setdefault(
                region,
                HttpPeer(region, url, key=settings.federation_key, caller=settings.region),
            )
    return RegionFederation(settings.region, directory, reachable)
