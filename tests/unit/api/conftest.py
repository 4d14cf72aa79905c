"""Two users calling the API function's handler, for the API tests."""

from __future__ import annotations

import pytest

from tests.support.api_calls import Api
from tests.support.fixtures import LambdaClient


@pytest.fixture
def alice(api: LambdaClient) -> Api:
    return Api(api, "alice")


@pytest.fixture
def bob(api: LambdaClient) -> Api:
    return Api(api, "bob")
