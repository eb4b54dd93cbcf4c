"""Channels: the state of the chat channels, and pairing approvals."""

from __future__ import annotations

from pulse.v1 import channels_pb2, channels_pb2_grpc

from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, unary
from pulsed.channels.channel import ChannelInfo
from pulsed.errors import InvalidArgument


def info_pb(info: ChannelInfo) -> channels_pb2.ChannelInfo:
    """A channel's state as its protobuf message."""
    return channels_pb2.ChannelInfo(
        name=info.name,
        enabled=info.enabled,
        state=info.state,
        identity=info.identity,
        last_error=info.last_error,
        last_error_at=info.last_error_at,
        connected_since=info.connected_since,
        last_inbound_at=info.last_inbound_at,
        pending_outbox=info.pending_outbox,
        delivered=info.delivered,
        failed_deliveries=info.failed_deliveries,
        restarts=info.restarts,
        allowed_users=info.allowed_users,
        paired_users=info.paired_users,
        pending_pairings=info.pending_pairings,
        failures=[
            channels_pb2.FailedDelivery(
                message_id=f.message_id,
                target=f.target,
                error=f.error,
                at=f.at,
                attempts=f.attempts,
            )
            for f in info.failures
        ],
    )


class ChannelsServicer(channels_pb2_grpc.ChannelsServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.channels = deps.channels

    @unary
    async def List(
        self, request: channels_pb2.ListChannelsRequest, context: Context
    ) -> channels_pb2.ListChannelsResponse:
        infos = await self.channels.infos()
        return channels_pb2.ListChannelsResponse(channels=[info_pb(i) for i in infos])

    @unary
    async def Status(
        self, request: channels_pb2.ChannelStatusRequest, context: Context
    ) -> channels_pb2.ChannelStatusResponse:
        infos = await self.channels.infos(request.name, details=True)
        return channels_pb2.ChannelStatusResponse(channels=[info_pb(i) for i in infos])

    @unary
    async def ApprovePairing(
        self, request: channels_pb2.ApprovePairingRequest, context: Context
    ) -> channels_pb2.ApprovePairingResponse:
        if not request.code.strip():
            raise InvalidArgument("code is required: the pairing code the person received")
        name, entry = await self.channels.approve(request.code)
        return channels_pb2.ApprovePairingResponse(
            channel=name,
            user_id=entry.user_id,
            user_name=entry.user_name,
            chat=entry.chat,
        )
