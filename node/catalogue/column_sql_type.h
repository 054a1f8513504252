// The SQL type a dataset file declares for a catalogue column type (its
// tables are STRICT): INTEGER, REAL, or TEXT for text and dates.
#ifndef TRENODE_NODE_CATALOGUE_COLUMN_SQL_TYPE_H_
#define TRENODE_NODE_CATALOGUE_COLUMN_SQL_TYPE_H_

#include "trenode/v1/catalogue.pb.h"

namespace trenode::catalogue {

inline const char* ColumnSqlType(trenode::v1::ColumnType type) {
  switch (type) {
    case trenode::v1::COLUMN_TYPE_INTEGER:
      return "INTEGER";
    case trenode::v1::COLUMN_TYPE_REAL:
      return "REAL";
    default:
      return "TEXT";
  }
}

}  // namespace trenode::catalogue

#endif  // TRENODE_NODE_CATALOGUE_COLUMN_SQL_TYPE_H_
