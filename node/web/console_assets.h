// The web console's files (node/web/console/), built into the binary by
// embed_console.cmake. Immutable after start; safe from any thread.
#ifndef TRENODE_NODE_WEB_CONSOLE_ASSETS_H_
#define TRENODE_NODE_WEB_CONSOLE_ASSETS_H_

#include <string_view>
#include <vector>

namespace trenode::web {

struct ConsoleAsset {
  std::string_view path;          // "/console/app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// Every file under node/web/console/, in name order.
const std::vector<ConsoleAsset>& ConsoleAssets();

}  // namespace trenode::web

#endif  // TRENODE_NODE_WEB_CONSOLE_ASSETS_H_
