# Writes OUT = a header defining DACC_COMMIT, the source tree's git commit
# ("<12 hex>" or "<12 hex>-dirty"; "unknown" outside a git checkout), at
# build time so study.json names the code that ran. The file is rewritten
# only when the commit changes, so only its one includer recompiles.
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12 --match "NO-TAGS"
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown")
endif()
set(text "#define DACC_COMMIT \"${commit}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
