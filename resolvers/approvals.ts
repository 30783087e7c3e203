import type { ApprovalPinResolvers, ApprovalResolvers } from './__generated__/resolvers-types.js';

export const Approval: ApprovalResolvers = {
  resource: async (a, _, ctx) => {
    const r = await ctx.loaders.resource.load(a.resourceId);
    if (!r) throw new Error(`approved resource ${a.resourceId} is gone`);
    return r;
  },
  stale: (a, _, ctx) => ctx.loaders.stale.load(a.id),
  pins: (a, _, ctx) => ctx.loaders.pins.load(a.id),
  pinned: (a, { resourceId }, ctx) => ctx.loaders.pin.load({ approvalId: a.id, resourceId }),
};

export const ApprovalPin: ApprovalPinResolvers = {
  remoteSnapshots: (p, _, ctx) => ctx.loaders.snapshots.load({ approvalId: p.approvalId, resourceId: p.resourceId }),
};
