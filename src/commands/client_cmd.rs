//! SKELETON: being written (issue 3).

use super::Ctx;
use crate::protocol::decode::Args;

pub fn client_unblock(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_reply(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_id(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_info(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_no_evict(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_pause(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_kill(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_unpause(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_getname(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_setname(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_list(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_setinfo(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn client_no_touch(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn monitor(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}
