// The question trenode-synth's data is built around, as aggregate-query text
// (trenode.v1.AggregateQuery fields): persons with a reduced left ventricular
// ejection fraction (LVEF < 40) and no heart-failure (ICD-10 I50*) diagnosis.
#ifndef TRENODE_TESTS_TESTUTIL_HEART_FAILURE_H_
#define TRENODE_TESTS_TESTUTIL_HEART_FAILURE_H_

namespace trenode::testing {

inline constexpr char kUndiagnosedHeartFailureCohort[] = R"pb(
  cohort {
    all_of {
      criteria {
        events {
          filter {
            table: "measurement"
            code_column: "measurement_code"
            codes: "250908004"
            value_column: "value_as_number"
            value_comparison: COMPARISON_LT
            value: 40
          }
        }
      }
      criteria {
        none_of {
          events {
            filter {
              table: "condition_occurrence"
              code_column: "condition_code"
              code_prefixes: "I50"
            }
          }
        }
      }
    }
  })pb";

// Age at 2024-01-01 from year_of_birth, in bands <40, [40,50), ..., >=80.
inline constexpr char kAgeBandGroup[] = R"pb(
  variable { age { birth_column: "year_of_birth" } }
  binning { boundaries: [ 40, 50, 60, 70, 80 ] }
  label: "age_band")pb";

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_HEART_FAILURE_H_
