# Writes OUT, a source defining ha::build_commit(): the git commit of SRC (with "+local changes" when tracked files
# differ from it), or "unknown" outside a git checkout. Run at every build (CMakeLists.txt); OUT is rewritten only
# when its text changes, so an unchanged commit rebuilds nothing.
execute_process(COMMAND git -C "${SRC}" rev-parse HEAD OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown")
else()
  execute_process(COMMAND git -C "${SRC}" status --porcelain --untracked-files=no OUTPUT_VARIABLE changes
                  RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND NOT changes STREQUAL "")
    set(commit "${commit}+local changes")
  endif()
endif()
set(text "// Generated at build time by scripts/build_commit.cmake. Do not edit.\nnamespace ha {\nconst char* build_commit() { return \"${commit}\"; }\n}  // namespace ha\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE "${OUT}" "${text}")
endif()
