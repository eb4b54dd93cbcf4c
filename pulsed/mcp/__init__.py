"""The MCP client: each enabled ``[mcp.servers.NAME]`` becomes one supervised connection
whose tools the agent calls as ``<server>__<tool>`` (the official ``mcp`` SDK underneath).

The SDK is imported only when a server is configured (``pulsed.mcp.connection``); this
package's other modules hold the pure parts: names, results, the tool adapter.
"""
