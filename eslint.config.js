import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // src/ is the library: it prints nothing itself and knows no CLI framework (rendering is commands/')
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...['process', 'node:process'].map((name) => ({
              name,
              importNames: ['stdout'],
              message: 'src/ takes a Writable; commands/ passes process.stdout',
            })),
          ],
          patterns: [
            {
              group: ['@oclif/*', 'chalk', 'cli-table3', 'cli-progress'],
              message: 'CLI only: flags, colour, tables and progress bars belong in commands/',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'stdout',
          message: 'src/ takes a Writable; commands/ passes process.stdout',
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/^(@oclif\\/|chalk$|cli-table3$|cli-progress$)/]',
          message: 'CLI only: flags, colour, tables and progress bars belong in commands/',
        },
        // no mutable module-level state: what a session keeps lives in an instance it owns
        {
          selector: 'Program > VariableDeclaration[kind=/^(let|var)$/]',
          message: 'no mutable module-level state in src/: keep it in an instance (a session, a server)',
        },
        {
          selector: 'Program > ExportNamedDeclaration > VariableDeclaration[kind=/^(let|var)$/]',
          message: 'no mutable module-level state in src/: keep it in an instance (a session, a server)',
        },
        {
          selector:
            ':matches(Program, Program > ExportNamedDeclaration) > VariableDeclaration > VariableDeclarator > NewExpression[callee.name=/^(Map|WeakMap|DescriptorBudget)$/]',
          message: 'no mutable module-level state in src/: keep caches and budgets in an instance',
        },
      ],
    },
  },
)
