"""Every Admin GraphQL document the app sends, as named operations (a test validates each against the schema)."""

from __future__ import annotations

from shop_app.shopify.admin import Operation

SHOP_INFO = Operation(
    name="ShopInfo",
    document="""
query ShopInfo {
  shop { name myshopifyDomain ianaTimezone }
}
""",
    estimated_cost=1,
)

# Stage one of the scan: cheap product list, filtered by status and creation (or update) time, oldest first.
SCAN_PRODUCTS = Operation(
    name="ScanProducts",
    document="""
query ScanProducts($after: String, $query: String!, $first: Int!, $sortKey: ProductSortKeys!) {
  products(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    pageInfo { hasNextPage endCursor }
    nodes { id title handle status vendor productType createdAt updatedAt mediaCount { count } }
  }
}
""",
    estimated_cost=52,
)

# Stage two: the images and variants of one product (MediaImage.image.id is the ProductImage gid webhooks
# also use; a variant shows at most one media). Description, tags and variants feed GET /api/nu3d.
PRODUCT_DETAIL = Operation(
    name="ProductDetail",
    document="""
query ProductDetail($id: ID!, $after: String) {
  product(id: $id) {
    id title handle status vendor productType createdAt updatedAt description tags
    variants(first: 50) {
      nodes { id title sku price availableForSale media(first: 1) { nodes { id } } }
    }
    media(first: 50, after: $after, query: "media_type:IMAGE") {
      pageInfo { hasNextPage endCursor }
      nodes {
        id alt mediaContentType status
        ... on MediaImage { image { id url altText width height } }
      }
    }
  }
}
""",
    estimated_cost=260,
)


# Backfills (a merchant asks for all active products, or one collection's): product ids page by page; each
# product is then read with ProductDetail like the scan does.
BACKFILL_PRODUCTS = Operation(
    name="BackfillProducts",
    document="""
query BackfillProducts($after: String, $first: Int!, $query: String!) {
  products(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes { id status updatedAt }
  }
}
""",
    estimated_cost=52,
)

COLLECTION_PRODUCTS = Operation(
    name="CollectionProducts",
    document="""
query CollectionProducts($id: ID!, $after: String, $first: Int!) {
  collection(id: $id) {
    id
    products(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id status updatedAt }
    }
  }
}
""",
    estimated_cost=53,
)

# Large catalogues: one bulk query instead of pages (shopify.dev bulk operations). The inner document is what
# Shopify runs; its JSONL has a line per product, per media (__parentId: the product), per variant and per
# variant media (__parentId: the variant).
BULK_PRODUCTS_DOCUMENT = """
{
  products(query: "status:active") {
    edges { node {
      id title handle status vendor productType createdAt updatedAt description tags
      media { edges { node {
        id alt mediaContentType status
        ... on MediaImage { image { id url altText width height } }
      } } }
      variants { edges { node {
        id title sku price availableForSale
        media { edges { node { id } } }
      } } }
    } }
  }
}
"""

PRODUCTS_COUNT = Operation(
    name="ProductsCount",
    document="""
query ProductsCount($query: String!) {
  productsCount(query: $query, limit: null) { count precision }
}
""",
    estimated_cost=1,
)

RUN_BULK_QUERY = Operation(
    name="RunBulkQuery",
    document="""
mutation RunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
""",
    estimated_cost=10,
)

BULK_OPERATION_STATUS = Operation(
    name="BulkOperationStatus",
    document="""
query BulkOperationStatus($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode url objectCount rootObjectCount }
  }
}
""",
    estimated_cost=1,
)

COLLECTION_EXISTS = Operation(
    name="CollectionExists",
    document="""
query CollectionExists($id: ID!) {
  collection(id: $id) { id title }
}
""",
    estimated_cost=1,
)

# Publishing an approved model as MODEL_3D media (shopify-facts.md §6).
STAGE_UPLOAD = Operation(
    name="StageUpload",
    document="""
mutation StageUpload($input: [StagedUploadInput!]!) {
  stagedUploadsCreate(input: $input) {
    stagedTargets { url resourceUrl parameters { name value } }
    userErrors { field message }
  }
}
""",
    estimated_cost=11,
)

ATTACH_MODEL = Operation(
    name="AttachModel",
    document="""
mutation AttachModel($product: ProductUpdateInput!, $media: [CreateMediaInput!]) {
  productUpdate(product: $product, media: $media) {
    product { id media(last: 1) { nodes { id mediaContentType status } } }
    userErrors { field message }
  }
}
""",
    estimated_cost=14,
)

MEDIA_STATUS = Operation(
    name="MediaStatus",
    document="""
query MediaStatus($ids: [ID!]!) {
  nodes(ids: $ids) {
    id
    ... on Model3d { status mediaErrors { code details message } sources { format url } }
  }
}
""",
    estimated_cost=3,
)

DETACH_MEDIA = Operation(
    name="DetachMedia",
    document="""
mutation DetachMedia($files: [FileUpdateInput!]!) {
  fileUpdate(files: $files) {
    files { id }
    userErrors { field message code }
  }
}
""",
    estimated_cost=11,
)

ALL_OPERATIONS = (
    SHOP_INFO,
    SCAN_PRODUCTS,
    PRODUCT_DETAIL,
    BACKFILL_PRODUCTS,
    COLLECTION_PRODUCTS,
    COLLECTION_EXISTS,
    PRODUCTS_COUNT,
    RUN_BULK_QUERY,
    BULK_OPERATION_STATUS,
    STAGE_UPLOAD,
    ATTACH_MODEL,
    MEDIA_STATUS,
    DETACH_MEDIA,
)
