"""Everything that talks to Shopify: shop domains, session tokens, OAuth, tokens at rest, the Admin GraphQL client."""
