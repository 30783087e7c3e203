import type { Content } from '../engine/resources/model.js';

/** The demo slice of an edge orchestrator, in creation order (parents before children). */
export const DEMO_RESOURCES: ReadonlyArray<readonly [kind: string, content: Content]> = [
  ['ClusterProvider', { name: 'edge-east' }],
  ['ClusterProvider', { name: 'edge-west' }],
  ['Cluster', { provider: 'edge-east', name: 'east-1', labels: ['region=east', 'tier=gold'] }],
  ['Cluster', { provider: 'edge-east', name: 'east-2', labels: ['region=east', 'gpu'] }],
  ['Cluster', { provider: 'edge-east', name: 'east-3', labels: ['region=east'] }],
  ['Cluster', { provider: 'edge-west', name: 'west-1', labels: ['region=west', 'tier=gold'] }],
  ['Cluster', { provider: 'edge-west', name: 'west-2', labels: ['region=west'] }],
  ['Project', { name: 'retail', description: 'Stores and payments', billingAccount: { number: 'ACC-1001', owner: 'e-1' } }],
  ['Project', { name: 'logistics', description: 'Parcel tracking', billingAccount: { number: 'ACC-2001', owner: 'e-3' } }],
  ['LogicalCluster', { project: 'retail', name: 'lc-east' }],
  ['LogicalCluster', { project: 'retail', name: 'lc-west' }],
  ['LogicalCluster', { project: 'logistics', name: 'lc-all' }],
  ['CompositeApp', { project: 'retail', name: 'storefront', description: 'Web shop' }],
  ['CompositeApp', { project: 'retail', name: 'payments', description: 'Card payments' }],
  ['CompositeApp', { project: 'logistics', name: 'tracker', description: 'Parcel tracker' }],
  ['CompositeProfile', { project: 'retail', compositeApp: 'storefront', name: 'default' }],
  ['CompositeProfile', { project: 'retail', compositeApp: 'storefront', name: 'canary' }],
  ['CompositeProfile', { project: 'retail', compositeApp: 'payments', name: 'default' }],
  ['CompositeProfile', { project: 'logistics', compositeApp: 'tracker', name: 'default' }],
  [
    'DeploymentIntentGroup',
    {
      project: 'retail',
      compositeApp: 'storefront',
      compositeProfile: 'default',
      name: 'prod-east',
      description: 'Storefront in the east',
      logicalCluster: 'lc-east',
      clusters: [
        { provider: 'edge-east', name: 'east-1' },
        { provider: 'edge-east', name: 'east-2' },
      ],
      owner: { employeeId: 'e-1' },
    },
  ],
  [
    'DeploymentIntentGroup',
    {
      project: 'retail',
      compositeApp: 'storefront',
      compositeProfile: 'default',
      name: 'prod-west',
      logicalCluster: 'lc-west',
      clusters: [{ provider: 'edge-west', name: 'west-1' }],
      owner: { employeeId: 'e-2' },
    },
  ],
  [
    'DeploymentIntentGroup',
    {
      project: 'retail',
      compositeApp: 'storefront',
      compositeProfile: 'canary',
      name: 'canary-east',
      clusters: [{ provider: 'edge-east', name: 'east-3' }],
      owner: { employeeId: 'e-4' },
    },
  ],
  [
    'DeploymentIntentGroup',
    {
      project: 'retail',
      compositeApp: 'payments',
      compositeProfile: 'default',
      name: 'payments-prod',
      logicalCluster: 'lc-east',
      clusters: [
        { provider: 'edge-east', name: 'east-1' },
        { provider: 'edge-west', name: 'west-1' },
      ],
      owner: { employeeId: 'e-5' },
    },
  ],
  [
    'DeploymentIntentGroup',
    {
      project: 'logistics',
      compositeApp: 'tracker',
      compositeProfile: 'default',
      name: 'tracker-prod',
      logicalCluster: 'lc-all',
      clusters: [
        { provider: 'edge-east', name: 'east-2' },
        { provider: 'edge-west', name: 'west-2' },
      ],
      owner: { employeeId: 'e-7' },
    },
  ],
];
