import type { ApprovalPinResolvers, ApprovalResolvers } from './__generated__/resolvers-types.js';
import { firstOf, pinnedResource } from './support.js';

export const Approval: ApprovalResolvers = {
  resource: async (a, _, ctx) => {
    const r = await ctx.loaders.resource.load(a.resourceId);
    if (!r) throw new Error(`approved resource ${a.resourceId} is gone`);
    return r;
  },
  stale: (a, _, ctx) => ctx.loaders.stale.load(a.id),
  pins: async (a, args, ctx) => firstOf(await ctx.loaders.pins.load(a.id), args, ctx, 1000),
  pinned: (a, { resourceId }, ctx) => ctx.loaders.pin.load({ approvalId: a.id, resourceId }),
};

export const ApprovalPin: ApprovalPinResolvers = {
  resource: pinnedResource,
  remoteSnapshots: async (p, args, ctx) =>
    firstOf(await ctx.loaders.snapshots.load({ approvalId: p.approvalId, resourceId: p.resourceId }), args, ctx),
};
