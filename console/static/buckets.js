// Lightsail buckets and their keys.
import { lightsail } from './api.js';
import { showSecret } from './keys.js';
import { act, button, buttons, confirmThen, el, field, form, main, table } from './ui.js';

export async function showBuckets() {
  const out = await lightsail('GetBuckets', {});
  const [nameLabel, name] = field('Bucket name', { id: 'newbucket', required: true });
  const [bundleLabel, bundle] = field('Bundle', { id: 'newbundle', value: 'small_1_0' });
  const sections = [];
  for (const b of out.buckets || []) {
    const keys = (await lightsail('GetBucketAccessKeys', { bucketName: b.name })).accessKeys || [];
    sections.push(el('section', { 'aria-label': 'Bucket ' + b.name },
      el('h3', {}, b.name),
      el('p', {}, `${b.bundleId} · ${b.arn}`, b.url ? [' · ', el('code', {}, b.url)] : ''),
      table(['Access key ID', 'Last used', ''], keys.map((k) => el('tr', {},
        el('td', {}, el('code', {}, k.accessKeyId)),
        el('td', {}, k.lastUsed && k.lastUsed.lastUsedDate ? `${new Date(k.lastUsed.lastUsedDate * 1000).toISOString()} (${k.lastUsed.serviceName})` : 'N/A'),
        el('td', {}, button('Delete', confirmThen(`Delete access key ${k.accessKeyId}?`,
          () => act(() => lightsail('DeleteBucketAccessKey', { bucketName: b.name, accessKeyId: k.accessKeyId }), showBuckets)),
        { 'aria-label': 'Delete ' + k.accessKeyId }))))),
      buttons(
        button('Create bucket key', () => act(async () => {
          const k = await lightsail('CreateBucketAccessKey', { bucketName: b.name });
          showSecret(k.accessKey.accessKeyId, k.accessKey.secretAccessKey);
        }, showBuckets)),
        button('Delete bucket', confirmThen(`Delete bucket ${b.name} and its keys?`,
          () => act(() => lightsail('DeleteBucket', { bucketName: b.name, forceDelete: true }), showBuckets))))));
  }
  main().replaceChildren(el('h2', {}, 'Buckets'), ...sections,
    form('Create bucket', () => act(() => lightsail('CreateBucket', { bucketName: name.value, bundleId: bundle.value }), showBuckets),
      el('h3', {}, 'Create bucket'), nameLabel, name, bundleLabel, bundle,
      buttons(el('button', { type: 'submit', class: 'primary' }, 'Create bucket'))));
}
