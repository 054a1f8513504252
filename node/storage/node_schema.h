// The node database's schema: every migration, in order, for every module
// that keeps state in the node's own SQLite file.
#ifndef TRENODE_NODE_STORAGE_NODE_SCHEMA_H_
#define TRENODE_NODE_STORAGE_NODE_SCHEMA_H_

#include <span>

#include "node/storage/migrations.h"

namespace trenode::storage {

std::span<const Migration> NodeSchemaMigrations();

}  // namespace trenode::storage

#endif  // TRENODE_NODE_STORAGE_NODE_SCHEMA_H_
