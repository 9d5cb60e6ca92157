import { CYCLE_LINK_RELATIONS, CYCLE_SCALES, DIRECTIONS } from '@app/domain';
import { FieldMap, optionalText, Posted, text } from '../shared/forms';
import { PageAction } from '../shared/page-actions';

/** Choices a question takes from the cycle at hand rather than from a fixed list. */
export type CycleChoices = 'experiments' | 'cycles';

/**
 * One question on a learning cycle's form, as the template shows it. `lines` is a list the service takes as an
 * array: one entry a line.
 */
export interface Question {
  kind: 'text' | 'textarea' | 'lines' | 'radios' | 'select';
  /** The form field's name; also the request's field unless `field` says otherwise. */
  name: string;
  id: string;
  label: string;
  hint?: string;
  field?: string;
  items?: { value: string; text: string }[];
  choices?: CycleChoices;
}

/** A stage of a learning cycle as a page: its questions, and the request to the partner's `POST /learning-cycles/{id}/{path}`. */
export interface CycleStageForm extends PageAction {
  title: string;
  intro: string;
  questions: Question[];
  button: string;
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).replaceAll('-', ' ');
const choicesOf = (values: readonly string[]) => values.map((v) => ({ value: v, text: capital(v) }));

const LINES_HINT = 'One a line';
/** Questions by kind: a list (one a line), a longer answer, a short one. */
const linesQ = (name: string, id: string, label: string): Question => ({
  kind: 'lines',
  name,
  id,
  label,
  hint: LINES_HINT,
});
const longQ = (name: string, id: string, label: string): Question => ({ kind: 'textarea', name, id, label });
const shortQ = (name: string, id: string, label: string): Question => ({ kind: 'text', name, id, label });
const lines = (b: Posted, name: string) =>
  text(b, name)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** The form's fields as the service's problems name them (the request's field -> the input). */
function fieldsOf(questions: Question[]): FieldMap {
  return Object.fromEntries(questions.map((q) => [q.field ?? q.name, { id: q.id, label: q.label }]));
}

/** The request: text questions omitted when empty (the service names what it needs), lists split into lines. */
function requestOf(questions: Question[]) {
  return (b: Posted) =>
    Object.fromEntries(
      questions.map((q) => [
        q.field ?? q.name,
        q.kind === 'lines' ? lines(b, q.name) : optionalText(b, q.name),
      ]),
    );
}

function stage(
  path: string,
  form: Omit<CycleStageForm, 'path' | 'fields' | 'request'> & { request?: PageAction['request'] },
): CycleStageForm {
  return { path, fields: fieldsOf(form.questions), request: requestOf(form.questions), ...form };
}

const experiment = (hint: string): Question => ({
  kind: 'radios',
  name: 'experimentId',
  id: 'experiment',
  label: 'Which experiment',
  hint,
  choices: 'experiments',
});

const findings: Question[] = [
  linesQ('patternsSeen', 'patterns-seen', 'Patterns seen'),
  longQ('learningForThisScale', 'learning-here', 'What was learnt for this scale'),
  linesQ(
    'learningForOtherSystems',
    'learning-elsewhere',
    'What was learnt for other systems, across and above',
  ),
];

const INFLUENCE_ROWS = [1, 2, 3];
const influenceQuestions: Question[] = INFLUENCE_ROWS.flatMap((n) => [
  {
    kind: 'text' as const,
    name: `whose${n}`,
    field: `changes.${n - 1}.whose`,
    id: `whose-${n}`,
    label: `Change ${n}: whose business as usual`,
    hint: n === 1 ? 'An organisation, service, body or system' : undefined,
  },
  {
    kind: 'radios' as const,
    name: `direction${n}`,
    field: `changes.${n - 1}.direction`,
    id: `direction-${n}`,
    label: `Change ${n}: direction`,
    items: choicesOf(DIRECTIONS),
  },
  {
    kind: 'textarea' as const,
    name: `change${n}`,
    field: `changes.${n - 1}.change`,
    id: `change-${n}`,
    label: `Change ${n}: what must change`,
  },
]);

/**
 * The stages of a learning cycle in the seed's words, one page each, posted to the partner's
 * `POST /learning-cycles/{id}/{stage}`. The service decides what may be recorded when (every stage after the
 * purpose waits for it); the pages only ask the stage's questions.
 */
export const CYCLE_STAGE_FORMS: Record<string, CycleStageForm> = {
  purpose: stage('purpose', {
    title: 'Set the purpose',
    intro: 'A learning cycle starts with purpose: what it is for, in the words of those it is for.',
    questions: [longQ('purpose', 'purpose', 'Purpose')],
    button: 'Set the purpose',
    done: 'The purpose is set.',
  }),
  'system-understanding': stage('system-understanding', {
    title: 'Understand the system',
    intro: 'Who and what makes up the system that creates the outcome, and how they learn together.',
    questions: [
      linesQ('actors', 'actors', 'Actors'),
      linesQ('relationships', 'relationships', 'Relationships'),
      linesQ('factors', 'factors', 'Factors that influence it'),
      longQ('learningTogether', 'learning-together', 'How they learn together'),
    ],
    button: 'Record the understanding',
    done: 'The understanding of the system is recorded.',
  }),
  experiments: stage('experiments', {
    title: 'Co-design an experiment',
    intro: 'What happens if we try this? An experiment is safe to fail.',
    questions: [
      longQ('question', 'question', 'The question it tries to answer'),
      linesQ('actions', 'actions', 'Actions to try'),
      linesQ('dataToCollect', 'data-to-collect', 'Data to collect'),
      longQ('sensemaking', 'sensemaking', 'How the data will be made sense of'),
      longQ('safeToFail', 'safe-to-fail', 'How it is safe to fail'),
      linesQ('countermeasures', 'countermeasures', 'Countermeasures that protect it'),
    ],
    button: 'Record the experiment',
    done: 'The experiment is designed.',
  }),
  'experiment-start': stage('experiment-start', {
    title: 'Start an experiment',
    intro: 'An experiment starts once it is designed; learning is recorded while it runs.',
    questions: [experiment('One that is designed and not yet started')],
    button: 'Start the experiment',
    done: 'The experiment is started.',
  }),
  'experiment-learning': stage('experiment-learning', {
    title: 'Record what an experiment is teaching',
    intro: 'What is being learnt while the experiment runs.',
    questions: [experiment('One that is running'), ...findings],
    button: 'Record the learning',
    done: 'The learning is recorded.',
  }),
  'experiment-conclusion': stage('experiment-conclusion', {
    title: 'Conclude an experiment',
    intro: 'What the experiment taught, for this scale and for others.',
    questions: [experiment('One that is running'), ...findings],
    button: 'Conclude the experiment',
    done: 'The experiment is concluded.',
  }),
  embedding: stage('embedding', {
    title: 'Embed the learning',
    intro: 'How our own business as usual changes.',
    questions: [linesQ('bauChanges', 'bau-changes', 'Changes to business as usual')],
    button: 'Record the embedding',
    done: 'The embedding is recorded.',
  }),
  influencing: stage('influencing', {
    title: 'Influence others',
    intro:
      'How the business as usual of others must change, across (horizontally) or above and below (vertically).',
    questions: influenceQuestions,
    button: 'Record the influencing',
    done: 'The influencing is recorded.',
    // Each row with anything in it is one change; empty rows are left out.
    request: (b) => ({
      changes: INFLUENCE_ROWS.filter((n) =>
        ['whose', 'direction', 'change'].some((k) => text(b, `${k}${n}`)),
      ).map((n) => ({
        whose: optionalText(b, `whose${n}`),
        direction: optionalText(b, `direction${n}`),
        change: optionalText(b, `change${n}`),
      })),
    }),
  }),
  management: stage('management', {
    title: 'Manage the cycle',
    intro: 'Is the cycle operating effectively, and what does it need?',
    questions: [
      longQ('operatingEffectively', 'operating-effectively', 'Is it operating effectively'),
      longQ('whatNeedsToChange', 'what-needs-to-change', 'What needs to change'),
      shortQ('timeToAllocate', 'time-to-allocate', 'Time to allocate'),
      linesQ('resources', 'resources', 'Resources'),
      linesQ('enablers', 'enablers', 'Enablers'),
      linesQ('barriers', 'barriers', 'Barriers'),
      linesQ('connectWith', 'connect-with', 'Whom to connect with'),
    ],
    button: 'Record the management',
    done: 'The management of the cycle is recorded.',
  }),
  governance: stage('governance', {
    title: 'Govern the cycle',
    intro: 'The integrity of the learning and adaptation.',
    questions: [
      longQ('areLessonsBeingLearnt', 'lessons-learnt', 'Are lessons being learnt'),
      longQ('howLearningChangesPractice', 'changes-practice', 'How the learning changes practice'),
      longQ(
        'howPracticeBecomesInfrastructure',
        'becomes-infrastructure',
        'How practice becomes infrastructure',
      ),
      longQ('howLearningAchievesPurpose', 'achieves-purpose', 'How the learning achieves the purpose'),
      longQ('howWeKnow', 'how-we-know', 'How we know'),
      linesQ('evaluationMechanisms', 'evaluation', 'Evaluation mechanisms'),
      linesQ('accountTo', 'account-to', 'To whom we give an account'),
      linesQ('whoIsIncluded', 'included', 'Who is included'),
      linesQ('whoIsExcluded', 'excluded', 'Who is excluded'),
      longQ('areBoundariesRight', 'boundaries', 'Are those boundaries right'),
    ],
    button: 'Record the governance',
    done: 'The governance of the cycle is recorded.',
  }),
  links: stage('links', {
    title: 'Link to another cycle',
    intro: 'Cycles form a connected stack across the scales: say how this one stands to another.',
    questions: [
      {
        kind: 'radios',
        name: 'relation',
        id: 'relation',
        label: 'This cycle',
        items: choicesOf(CYCLE_LINK_RELATIONS),
      },
      { kind: 'select', name: 'to', id: 'to-cycle', label: 'The other cycle', choices: 'cycles' },
    ],
    button: 'Link the cycles',
    done: 'The cycles are linked.',
  }),
  closure: stage('closure', {
    title: 'Close the cycle',
    intro: 'Nothing more can be recorded on a closed cycle. Conclude its running experiments first.',
    questions: [longQ('why', 'why', 'Why it closes')],
    button: 'Close the cycle',
    done: 'The cycle is closed.',
  }),
};

/** Convening a new cycle: `POST /learning-cycles`. */
export const CONVENE: CycleStageForm = stage('', {
  title: 'Convene a learning cycle',
  intro: 'A learning cycle at any scale; one across the place is convened by a steward.',
  questions: [
    shortQ('title', 'title', 'Title'),
    { kind: 'radios', name: 'scale', id: 'scale', label: 'Scale', items: choicesOf(CYCLE_SCALES) },
    { kind: 'text', name: 'team', id: 'team', label: 'Team', hint: 'For a team’s cycle: which team' },
    { kind: 'textarea', name: 'purpose', id: 'purpose', label: 'Purpose', hint: 'You may set it later' },
  ],
  button: 'Convene the cycle',
  done: 'The learning cycle is convened.',
});
// The service names a team cycle's missing team as the owner's.
CONVENE.fields['owner.team'] = CONVENE.fields.team;
