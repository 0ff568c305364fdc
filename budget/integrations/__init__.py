"""Budget in front of the model calls people already make: ``wrap()`` for the
OpenAI and Anthropic SDKs, and callbacks for LiteLLM, LangChain and
OpenTelemetry. Each integration imports its SDK only when used."""
