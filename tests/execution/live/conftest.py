from tests.execution.live.support import make_session

__all__ = ["make_session"]
