"""AWS ARNs a user gives us (today: a notification's SNS topic), judged by shape: the one place that
knows what a partition, a region and an account look like.

A region is `<area>[-gov|-iso|-isob|-isoe|-isof]-<direction>-<n>` (us-east-1, eu-central-2,
us-gov-west-1, cn-north-1, ap-southeast-4, il-central-1, mx-central-1, us-isob-east-1), and must
belong to the ARN's partition: `aws-cn` holds the cn-* regions, `aws-us-gov` the us-gov-* ones, each
`aws-iso*` its own, `aws` every other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIRECTIONS = "central|north|south|east|west|northeast|northwest|southeast|southwest"
_REGION = re.compile(rf"(?P<area>[a-z]{{2}})(?P<qualifier>-gov|-iso[bef]?)?-(?:{_DIRECTIONS})-[1-9][0-9]?")
_PARTITION = re.compile(r"aws(?:-cn|-us-gov|-iso(?:-[bef])?)?")
_ACCOUNT = re.compile(r"[0-9]{12}")  # ASCII digits: \d would take any script's

# The partition a region's name belongs to, by the part after its two letters (none: `aws`, but the
# cn- area is `aws-cn`).
_PARTITION_BY_QUALIFIER = {
    "-gov": "aws-us-gov",
    "-iso": "aws-iso",
    "-isob": "aws-iso-b",
    "-isoe": "aws-iso-e",
    "-isof": "aws-iso-f",
}


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def _partition_of(region: re.Match[str]) -> str:
    """The partition whose ARNs name the region (a match of _REGION)."""
    if region["area"] == "cn":
        return "aws-cn"
    return _PARTITION_BY_QUALIFIER.get(region["qualifier"] or "", "aws")


def parse(value: str, *, service: str) -> Arn:
    """The parts of a regional ARN of `service`; ValueError saying which part is wrong, and why."""
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: expected arn:<partition>:{service}:<region>:<account>:<name>")
    _, partition, named_service, region, account, resource = parts
    if not _PARTITION.fullmatch(partition):
        raise ValueError(
            f"the partition {partition[:32]!r} is not an AWS partition (aws, aws-cn, aws-us-gov, aws-iso*)"
        )
    if named_service != service:
        raise ValueError(f"not an {service} ARN (its service is {named_service[:32]!r})")
    region_parts = _REGION.fullmatch(region)
    if region_parts is None:
        raise ValueError(
            f"the region {region[:32]!r} is not an AWS region name (such as us-east-1 or eu-central-2)"
        )
    if _partition_of(region_parts) != partition:
        raise ValueError(f"the region {region!r} is not in the partition {partition!r}")
    if not _ACCOUNT.fullmatch(account):
        raise ValueError(f"the account {account[:32]!r} is not a 12-digit AWS account id")
    return Arn(partition, named_service, region, account, resource)


# An SNS topic's name: letters, digits, - and _, 1-256 (a FIFO topic's ends in .fifo).
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}(?:\.fifo)?")


def sns_topic(value: str) -> Arn:
    """An SNS topic ARN's parts; ValueError naming the part that is wrong."""
    arn = parse(value, service="sns")
    if not _TOPIC_NAME.fullmatch(arn.resource):
        raise ValueError(
            "the topic name must be 1-256 letters, digits, - or _ (a FIFO topic's ending in .fifo)"
        )
    return arn
