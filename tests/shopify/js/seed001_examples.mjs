// Seed 001's "Example Usage" client code, run by node against the app (base URL in argv[2]).
// The browser examples use a relative URL; node has no page origin, so the same path is resolved against base.
const base = process.argv[2];
const seen = [];

// JavaScript (Fetch), as the seed writes it
const response = await fetch(new URL('/api/nu3d?shop=vto-demo', base));
const data = await response.json();

if (data.success) {
  data.data.products.forEach(product => {
    product.variants.nodes.forEach(variant => {
      variant.images.forEach(image => {
        seen.push({ glb: image.model_glb_url, splat: image.gaussian_splat_url, metadata: image.metadata });
      });
    });
  });
}

// JavaScript (Axios): axios.get('/api/nu3d', { params: { shop: 'vto-demo', after } }). axios is not installed
// on this offline machine; this is the request it sends (params serialised into the query string).
const params = new URLSearchParams({ shop: 'vto-demo', after: data.data.pageInfo.endCursor });
const second = await (await fetch(new URL('/api/nu3d?' + params.toString(), base))).json();

console.log(JSON.stringify({ status: response.status, success: data.success, total: data.data.total, seen, second }));
