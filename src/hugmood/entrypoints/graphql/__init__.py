"""The GraphQL API: types, queries, mutations, and error codes for every failure."""
