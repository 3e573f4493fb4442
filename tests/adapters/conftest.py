from tests.shop.conftest import shop_factory  # noqa: F401 - the fixture, for services with other APIs too
