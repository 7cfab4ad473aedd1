from tests.shopify.harness import *  # noqa: F403
