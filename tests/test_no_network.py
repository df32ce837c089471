"""The whole suite runs with sockets disabled: no code path under test can reach a broker."""

import socket

import pytest
from pytest_socket import SocketBlockedError


def test_sockets_are_disabled_for_every_test():
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_outbound_connection_is_refused_before_it_leaves():
    with pytest.raises(SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
