//! SKELETON: being written (issue 3).

use super::Ctx;
use crate::protocol::decode::Args;

pub fn debug(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}
